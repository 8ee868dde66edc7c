"""The database schema, as the migrations that build it one version at a time."""

# Each entry migrates the schema from version i to i + 1; never edit a released entry.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE models (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        summary TEXT NOT NULL,
        created_at REAL NOT NULL
    ) STRICT;
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        config TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN (
            'queued', 'running', 'paused', 'completed', 'stopped', 'failed', 'interrupted'
        )),
        error TEXT,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        epoch INTEGER NOT NULL DEFAULT 0,
        step INTEGER NOT NULL DEFAULT 0,
        best_val_accuracy REAL,
        test_accuracy REAL,
        last_seq INTEGER NOT NULL DEFAULT -1,
        checkpoint TEXT
    ) STRICT;
    CREATE INDEX runs_by_model ON runs (model_id, created_at);
    CREATE INDEX runs_by_status ON runs (status);
    CREATE TABLE events (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX events_by_type ON events (run_id, type, seq);
    """,
    """
    ALTER TABLE models ADD COLUMN owner TEXT;
    ALTER TABLE runs ADD COLUMN owner TEXT;
    CREATE INDEX runs_by_owner ON runs (owner, status);
    """,
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL
    ) STRICT;
    CREATE TABLE api_tokens (
        digest TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at REAL NOT NULL
    ) STRICT;
    ALTER TABLE runs ADD COLUMN share_token TEXT;
    CREATE UNIQUE INDEX runs_by_share_token ON runs (share_token);
    CREATE INDEX models_by_owner ON models (owner, created_at);
    UPDATE runs
        SET checkpoint = substr(checkpoint, instr(checkpoint, '/checkpoints/' || id || '/') + 1)
        WHERE instr(checkpoint, '/checkpoints/' || id || '/') > 0;
    """,
    """
    ALTER TABLE runs ADD COLUMN starter INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE server_events (
        name TEXT PRIMARY KEY,
        happened_at REAL NOT NULL
    ) STRICT;
    """,
    """
    CREATE TABLE datasets (
        id TEXT PRIMARY KEY,
        owner TEXT,
        name TEXT NOT NULL,
        meta TEXT NOT NULL,
        created_at REAL NOT NULL
    ) STRICT;
    CREATE INDEX datasets_by_owner ON datasets (owner, created_at);
    """,
    """
    ALTER TABLE datasets ADD COLUMN share_token TEXT;
    CREATE UNIQUE INDEX datasets_by_share_token ON datasets (share_token);
    """,
    """
    ALTER TABLE runs ADD COLUMN parent_run_id TEXT;
    ALTER TABLE runs ADD COLUMN branch_epoch INTEGER;
    ALTER TABLE runs ADD COLUMN branch_note TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
