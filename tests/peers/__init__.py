"""Sandbox peers for the tests: small, real servers standing in for the systems the hub
talks to (a provincial platform with a WSDL, department systems), and ``server`` to run
any ASGI app on a free local port."""
