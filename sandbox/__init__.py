"""Sandbox peer systems for tests and the demo (not used in production):

- ``province_soap`` — a provincial platform with a real WSDL (item catalogue, case reporting);
- ``dept_rest`` — a department business system with a REST API (dispatch in, results out);
- ``sftp_server`` — a real SFTP server (paramiko) serving a folder as a drop;
- ``server.run_in_thread`` — runs any ASGI app on a free local port.

Each has switches for outage tests (down, refusing, slow, full disk).
"""
