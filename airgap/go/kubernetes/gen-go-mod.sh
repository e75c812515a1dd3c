#!/usr/bin/env bash
# Writes go.mod for a wrapper module that builds Kubernetes' commands from the Go module proxy.
# k8s.io/kubernetes points its staging modules at ./staging, which module zips leave out,
# so each one is replaced by its published v0.<minor>.<patch> twin.
set -euo pipefail
version=${1:?usage: gen-go-mod.sh KUBERNETES_VERSION (drawing.yaml: versions.kubernetes)}
staging_version="v0.${version#v1.}"
cat <<MOD
module demomicro.local/airgap/kubernetes

go 1.24.0

require k8s.io/kubernetes ${version}

replace (
MOD
for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms \
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller; do
  printf '\tk8s.io/%s => k8s.io/%s %s\n' "$m" "$m" "$staging_version"
done
echo ")"
