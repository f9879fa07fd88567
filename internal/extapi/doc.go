// Package extapi is a client for the Lambda Extensions API: register, the event loop
// (INVOKE and SHUTDOWN), and the init and exit error reports.
package extapi
