"""The hub's HTTP face: REST (JSON) and SOAP on one port (``govhub serve``)."""
