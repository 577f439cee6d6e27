"""uvicorn factory for the REST stage: the hub's app on a database the bench migrated
already (several server processes must not race to migrate it)."""

from hub.api.app import create_app


def app():
    return create_app(migrate_db=False)
