//go:build tools

// Package tools pins the commands we build so `go mod tidy` keeps their deps.
// The first three are the control plane; kube-scheduler, kubelet and kube-proxy are
// the optional real node (built only by `build.sh node`).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
