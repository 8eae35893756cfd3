"""Alembic environment for Lvyue, driven by Flask-Migrate (`flask --app web db upgrade`).

The target metadata is engine.db.Base.metadata (through Flask-SQLAlchemy), so the naming
conventions there name every constraint and index. On SQLite, migrations run in batch mode
(`render_as_batch`), because SQLite can only alter a table by copying it.
"""
import importlib
import logging
import pkgutil
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config

# Configure logging from alembic.ini, without silencing the application's own loggers.
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")


def import_all_models():
    """Import every engine/<area>/models.py, so autogenerate sees tables the app has not imported yet."""
    import engine

    for area in pkgutil.iter_modules(engine.__path__):
        if area.ispkg:
            name = f"engine.{area.name}.models"
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise


import_all_models()
from engine.models import include_in_autogenerate  # noqa: E402 - after the models: the case search's own objects
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def run_migrations_offline():
    """Emit SQL to stdout (`flask db upgrade --sql`) instead of running it."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=get_metadata(),
        literal_binds=True,
        render_as_batch=_is_sqlite(url),
        compare_type=True,
        include_name=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run the migrations over a connection of the application's engine."""

    # Do not write an empty revision when autogenerate finds no changes.
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives
    conf_args.setdefault("compare_type", True)
    conf_args.setdefault("include_name", include_in_autogenerate)  # the case search's FTS table / trigram index

    connectable = get_engine()
    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies a table and drops the old one; with foreign keys enforced that DROP fails for a
            # table other rows refer to (breach_record, complaint, ...). Switch enforcement off for the
            # migration — outside a transaction, where SQLite honours it — and check every reference after.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end SQLAlchemy's implicit transaction: Alembic's must be the outermost
        conf_args.setdefault("render_as_batch", sqlite)
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        try:
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                connection.rollback()  # nothing is pending after a migration; this only leaves any transaction
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.commit()
            if broken:
                raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:10]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
