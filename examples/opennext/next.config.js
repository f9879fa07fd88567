// Keep Sentry's CommonJS packages out of the server bundle so that its API route wrapper runs
// as it does on a real deployment (see /work/shared/REAL-STACKS.md).
/** @type {import('next').NextConfig} */
module.exports = {
  serverExternalPackages: ["@sentry/nextjs", "@sentry/node"],
};
