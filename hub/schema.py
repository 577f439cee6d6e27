"""The whole database schema: ``hub.db.tables`` plus the tables defined next to the code
that owns them. Alembic and the migration check import this, so they always see every
table whatever else was imported first."""

import devices.store  # noqa: F401  (device_event)
import hub.domains.bundles  # noqa: F401  (bundle, bundle_part)
import hub.domains.evaluations  # noqa: F401  (evaluation_follow_up)
import hub.ops.jobs  # noqa: F401  (job_run)
import hub.domains.libraries.merge  # noqa: F401  (field_provenance, merge_conflict, refresh_cursor)
import hub.domains.licences  # noqa: F401  (licence_catalogue, licence_catalogue_log, licence_reminder)
import hub.domains.notifications  # noqa: F401  (notification)
import hub.quality.models  # noqa: F401  (quality_run)
import hub.quarantine.workflow  # noqa: F401  (quarantine_action)
import hub.outbound.reconcile  # noqa: F401  (reconcile_discrepancy)
import hub.domains.supervision.scan  # noqa: F401  (supervision_action, supervision_scan)
from hub.db.tables import metadata

__all__ = ["metadata"]
