"""Tests of deploy/ (the kustomize base) and the Dockerfile: static checks plus a real apply."""
