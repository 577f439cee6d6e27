"""Hall device gateways (大厅设备): queue machines, window terminals, evaluation pads.

| module | job |
|---|---|
| ``events`` | the canonical device events (queue / window / evaluation) and the person reference |
| ``vendors/`` | one YAML file per vendor format, and their loader |
| ``framing`` | a payload cut into events per format (json, lines, xml); ``DeviceInputError`` |
| ``gateway`` | ``normalise``, ``publish`` and ``Gateway`` (dedupe, store, quarantine, publish) |
| ``store`` | the ``device_event`` table |
| ``halls`` | ``catalog/halls.yaml``: which halls may send, by API key |
| ``http`` / ``linefeed`` | ``POST /devices/{vendor}`` and the TCP line listener |
| ``stats`` | queue statistics by hour, per window and per item |
| ``cli`` | ``govhub devices serve | check | stats`` |
"""
