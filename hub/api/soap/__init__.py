"""SOAP ingress: the hub's push service for department and platform systems.

``hub.api.soap.wsdl`` builds the WSDL (document/literal, SOAP 1.1 and 1.2) from the data
dictionary and serves the XSDs it imports; ``hub.api.soap.service`` is the endpoint
(``routes()`` for the app, mounted at ``/soap/push``). The outbound SOAP client is
``adapters.soap``.
"""
