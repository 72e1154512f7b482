"""Custom checkov checks of todo-api (run with `checkov --external-checks-dir deploy/checkov`)."""
