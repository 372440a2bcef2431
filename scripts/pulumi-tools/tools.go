//go:build tools

// Package tools pins the Pulumi CLI that scripts/install-pulumi.sh builds for the e2e tests
// and the demo. The blank import keeps github.com/pulumi/pulumi/pkg/v3 in go.mod/go.sum; the
// build tag keeps this file out of every normal build.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
