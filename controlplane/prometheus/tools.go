//go:build tools

// Package tools pins the Prometheus command so `go mod tidy` keeps its deps.
package tools

import _ "github.com/prometheus/prometheus/cmd/prometheus"
