"""The catalogue of connected systems (``catalog/systems.yaml``) and who may do what (access)."""
