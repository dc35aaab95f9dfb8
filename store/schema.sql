CREATE SEQUENCE alias_event_id INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START 1 NO CYCLE;

CREATE SEQUENCE audit_event_id INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START 1 NO CYCLE;

CREATE TABLE alias_events(event_id BIGINT DEFAULT(nextval('alias_event_id')) PRIMARY KEY, model_id VARCHAR NOT NULL, alias VARCHAR NOT NULL, from_version INTEGER, to_version INTEGER, actor VARCHAR NOT NULL, moved_at TIMESTAMP NOT NULL, reason VARCHAR DEFAULT('') NOT NULL);

CREATE TABLE artifacts(run_id VARCHAR, path VARCHAR, sha256 VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, created_at TIMESTAMP NOT NULL, PRIMARY KEY(run_id, path));

CREATE TABLE audit_events(event_id BIGINT DEFAULT(nextval('audit_event_id')) PRIMARY KEY, ts TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, "action" VARCHAR NOT NULL, object_type VARCHAR NOT NULL, object_id VARCHAR NOT NULL, detail VARCHAR DEFAULT('{}') NOT NULL);

CREATE TABLE contract_results(dataset_id VARCHAR, "version" INTEGER, revision INTEGER, "position" INTEGER, check_name VARCHAR NOT NULL, column_name VARCHAR DEFAULT('') NOT NULL, passed BOOLEAN NOT NULL, message VARCHAR NOT NULL, failing BIGINT DEFAULT(0) NOT NULL, examples VARCHAR[], checked_at TIMESTAMP NOT NULL, PRIMARY KEY(dataset_id, "version", revision, "position"));

CREATE TABLE dataset_columns(dataset_id VARCHAR, "version" INTEGER, "position" INTEGER, "name" VARCHAR NOT NULL, dtype VARCHAR NOT NULL, "family" VARCHAR NOT NULL, count BIGINT NOT NULL, "nulls" BIGINT NOT NULL, nan_count BIGINT NOT NULL, distinct_count BIGINT NOT NULL, distinct_exact BOOLEAN NOT NULL, min_text VARCHAR, max_text VARCHAR, min_value DOUBLE, max_value DOUBLE, mean DOUBLE, std DOUBLE, quantiles DOUBLE[], hist_edges DOUBLE[], hist_counts BIGINT[], top_values VARCHAR[], top_counts BIGINT[], other_count BIGINT DEFAULT(0) NOT NULL, posinf_count BIGINT DEFAULT(0), neginf_count BIGINT DEFAULT(0), quantiles_exact BOOLEAN DEFAULT(false), singletons BIGINT, tail_hashes UBIGINT[], tail_counts BIGINT[], PRIMARY KEY(dataset_id, "version", "position"));

CREATE TABLE dataset_contracts(dataset_id VARCHAR, revision INTEGER, created_at TIMESTAMP NOT NULL, created_by VARCHAR DEFAULT('') NOT NULL, note VARCHAR DEFAULT('') NOT NULL, spec VARCHAR NOT NULL, PRIMARY KEY(dataset_id, revision));

CREATE TABLE dataset_source_hashes(dataset_id VARCHAR, source_hash VARCHAR, "version" INTEGER NOT NULL, PRIMARY KEY(dataset_id, source_hash));

CREATE TABLE dataset_tags(dataset_id VARCHAR, "version" INTEGER, "key" VARCHAR, "value" VARCHAR NOT NULL, PRIMARY KEY(dataset_id, "version", "key"));

CREATE TABLE dataset_versions(dataset_id VARCHAR, "version" INTEGER, fingerprint VARCHAR NOT NULL, blob_sha256 VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, n_rows BIGINT NOT NULL, n_columns INTEGER NOT NULL, duplicate_rows BIGINT NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR DEFAULT('') NOT NULL, message VARCHAR DEFAULT('') NOT NULL, parent_version INTEGER, "source" VARCHAR NOT NULL, source_name VARCHAR DEFAULT('') NOT NULL, contract_revision INTEGER, contract_passed BOOLEAN, n_failed_checks INTEGER DEFAULT(0) NOT NULL, PRIMARY KEY(dataset_id, "version"), UNIQUE(dataset_id, fingerprint));

CREATE TABLE datasets(dataset_id VARCHAR PRIMARY KEY, "name" VARCHAR NOT NULL UNIQUE, description VARCHAR DEFAULT('') NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR DEFAULT('') NOT NULL, lifecycle VARCHAR DEFAULT('active') NOT NULL);

CREATE TABLE drift_reports(report_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL, created_by VARCHAR DEFAULT('') NOT NULL, reference_ref VARCHAR NOT NULL, current_ref VARCHAR NOT NULL, model_ref VARCHAR, n_columns INTEGER NOT NULL, n_drifted INTEGER NOT NULL, verdict VARCHAR NOT NULL, results VARCHAR NOT NULL, model_results VARCHAR, config VARCHAR);

CREATE TABLE experiments(experiment_id VARCHAR PRIMARY KEY, "name" VARCHAR NOT NULL UNIQUE, description VARCHAR DEFAULT('') NOT NULL, lifecycle VARCHAR DEFAULT('active') NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR DEFAULT('') NOT NULL);

CREATE TABLE login_sessions(session_hash VARCHAR PRIMARY KEY, user_name VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL, ended_at TIMESTAMP, address VARCHAR);

CREATE TABLE metric_summary(run_id VARCHAR, "key" VARCHAR, last_value DOUBLE NOT NULL, last_step BIGINT NOT NULL, last_seq BIGINT NOT NULL, min_value DOUBLE, max_value DOUBLE, n_points BIGINT NOT NULL, PRIMARY KEY(run_id, "key"));

CREATE TABLE metrics(run_id VARCHAR NOT NULL, "key" VARCHAR NOT NULL, step BIGINT NOT NULL, ts_ms BIGINT NOT NULL, "value" DOUBLE NOT NULL, seq BIGINT NOT NULL);

CREATE TABLE model_aliases(model_id VARCHAR, alias VARCHAR, "version" INTEGER NOT NULL, updated_at TIMESTAMP NOT NULL, updated_by VARCHAR DEFAULT('') NOT NULL, PRIMARY KEY(model_id, alias));

CREATE TABLE model_version_tags(model_id VARCHAR, "version" INTEGER, "key" VARCHAR, "value" VARCHAR NOT NULL, PRIMARY KEY(model_id, "version", "key"));

CREATE TABLE model_versions(model_id VARCHAR, "version" INTEGER, run_id VARCHAR NOT NULL, dataset_ref VARCHAR, sha256 VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, signature VARCHAR NOT NULL, metrics VARCHAR DEFAULT('{}') NOT NULL, libraries VARCHAR DEFAULT('{}') NOT NULL, card VARCHAR DEFAULT('') NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR DEFAULT('') NOT NULL, PRIMARY KEY(model_id, "version"));

CREATE TABLE models(model_id VARCHAR PRIMARY KEY, "name" VARCHAR NOT NULL UNIQUE, description VARCHAR DEFAULT('') NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR DEFAULT('') NOT NULL);

CREATE TABLE monitor_events(event_id VARCHAR PRIMARY KEY, model VARCHAR NOT NULL, dataset_ref VARCHAR NOT NULL, report_id VARCHAR, fired BOOLEAN NOT NULL, "action" VARCHAR NOT NULL, detail VARCHAR DEFAULT('{}') NOT NULL, checked_at TIMESTAMP NOT NULL);

CREATE TABLE monitors(model VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, "target" VARCHAR NOT NULL, drift_share DOUBLE DEFAULT(0.25) NOT NULL, auto_promote BOOLEAN DEFAULT(false) NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR DEFAULT('') NOT NULL, max_performance_drop DOUBLE);

CREATE TABLE params(run_id VARCHAR, "key" VARCHAR, kind VARCHAR NOT NULL, value_int BIGINT, value_float DOUBLE, value_bool BOOLEAN, value_str VARCHAR, PRIMARY KEY(run_id, "key"));

CREATE TABLE run_ingest(run_id VARCHAR PRIMARY KEY, byte_offset BIGINT DEFAULT(0) NOT NULL, last_seq BIGINT DEFAULT(0) NOT NULL, updated_at TIMESTAMP);

CREATE TABLE run_records(run_id VARCHAR, kind VARCHAR, "name" VARCHAR, "data" VARCHAR NOT NULL, PRIMARY KEY(run_id, kind, "name"));

CREATE TABLE runs(run_id VARCHAR PRIMARY KEY, experiment_id VARCHAR NOT NULL, "name" VARCHAR NOT NULL, status VARCHAR NOT NULL, "source" VARCHAR DEFAULT('sdk') NOT NULL, parent_run_id VARCHAR, created_by VARCHAR DEFAULT('') NOT NULL, host VARCHAR, pid INTEGER, started_at TIMESTAMP NOT NULL, ended_at TIMESTAMP, "error" VARCHAR, lifecycle VARCHAR DEFAULT('active') NOT NULL, kind VARCHAR DEFAULT('run'));

CREATE TABLE schema_migrations("version" INTEGER PRIMARY KEY, "name" VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL);

CREATE TABLE serving_tokens(token_id VARCHAR PRIMARY KEY, "name" VARCHAR NOT NULL, secret_hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR NOT NULL, revoked_at TIMESTAMP, revoked_by VARCHAR DEFAULT('') NOT NULL, last_used_at TIMESTAMP, uses BIGINT DEFAULT(0) NOT NULL);

CREATE TABLE tags(run_id VARCHAR, "key" VARCHAR, "value" VARCHAR NOT NULL, PRIMARY KEY(run_id, "key"));

CREATE TABLE users("name" VARCHAR PRIMARY KEY, password_hash VARCHAR NOT NULL, "role" VARCHAR NOT NULL, disabled BOOLEAN DEFAULT(false) NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR DEFAULT('') NOT NULL, password_changed_at TIMESTAMP NOT NULL);

CREATE INDEX runs_experiment ON runs(experiment_id);
