#!/usr/bin/env sh
# Refresh the copies that deploy/ keeps of config/: the TrafficShift CRD and the gate profiles.
# kustomize refuses to read files outside deploy/ (its load restrictor), so the base carries
# byte-identical copies; tests/unit/deploy/test_sources.py fails whenever they differ.
set -eu
repo="$(cd "$(dirname "$0")/.." && pwd)"
cp "$repo/config/crd/trafficshift.yaml" "$repo/deploy/crd/trafficshift.yaml"
rm -f "$repo"/deploy/gates/*.yaml
cp "$repo"/config/gates/*.yaml "$repo/deploy/gates/"
echo "deploy/ copies refreshed; if a profile was added or removed, list it in deploy/kustomization.yaml"
