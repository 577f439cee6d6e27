"""Validators for the codes govhub records carry (all pure functions, no I/O at import).

- :mod:`~hub.model.codes.idcard`      公民身份号码 GB 11643-1999 (resident ID numbers)
- :mod:`~hub.model.codes.uscc`        统一社会信用代码 GB 32100-2015 (unified social credit codes)
- :mod:`~hub.model.codes.orgcode`     组织机构代码 GB 11714-1997 (organisation codes)
- :mod:`~hub.model.codes.licence_id`  电子证照标识 GB/T 36902 (electronic licence identifiers)
- :mod:`~hub.model.codes.divisions`   行政区划代码 GB/T 2260 (versioned division table, loaded from
  ``catalog/divisions/`` on first use)

Each ``validate()`` returns the normalised code or raises :class:`CodeError` with a
machine ``reason`` and a message that never contains the value. ``is_valid()`` wraps it.
"""

from hub.model.codes import divisions, idcard, licence_id, orgcode, uscc
from hub.model.codes.errors import CodeError, mask

__all__ = ["CodeError", "mask", "divisions", "idcard", "licence_id", "orgcode", "uscc"]
