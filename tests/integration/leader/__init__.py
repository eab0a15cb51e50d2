"""Leader-election acceptance tests: two controller replicas on the sandbox never both act."""
