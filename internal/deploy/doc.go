// Package deploy holds no code: its tests check the deployment files a user runs against
// AWS, which the tests cannot reach: template.yaml (what sam build builds, the runtimes,
// the outputs) and the snippets in docs/ecosystem.md that create and attach the layer.
package deploy
