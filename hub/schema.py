"""The whole database schema: ``hub.db.tables`` plus the tables defined next to the code
that owns them. Alembic and the migration check import this, so they always see every
table whatever else was imported first."""

import devices.store  # noqa: F401  (device_event)
import hub.domains.bundles
import hub.domains.evaluations
import hub.domains.libraries.merge
import hub.domains.licences
import hub.domains.notifications
import hub.domains.performance.tables
import hub.domains.supervision.scan
import hub.ops.jobs
import hub.outbound.reconcile
import hub.quality.models
import hub.quarantine.workflow  # noqa: F401  (quarantine_action)
from hub.db.tables import metadata

__all__ = ["metadata"]
