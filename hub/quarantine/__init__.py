"""The quarantine (隔离区): payloads in their own form, the administrators' view and workflow."""
