// Package publish publishes the layer's zips (layer/build/bodytrace-<arch>.zip) as Lambda
// layer versions in a list of regions, optionally public, with aws-sdk-go-v2.
// scripts/publish is its main package.
package publish
