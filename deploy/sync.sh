#!/usr/bin/env sh
# Refresh the copies that deploy/core keeps of config/: the TrafficShift CRD and the gate
# profiles. kustomize refuses to read files outside a kustomization's folder (its load
# restrictor), so the base carries byte-identical copies; tests/unit/deploy/test_sources.py
# fails whenever they differ.
set -eu
repo="$(cd "$(dirname "$0")/.." && pwd)"
cp "$repo/config/crd/trafficshift.yaml" "$repo/deploy/core/crd/trafficshift.yaml"
rm -f "$repo"/deploy/core/gates/*.yaml
cp "$repo"/config/gates/*.yaml "$repo/deploy/core/gates/"
echo "deploy/core copies refreshed; list any added or removed profile in deploy/core/kustomization.yaml"
