// Kysely's view of the tables (see migrations/). Generated<> marks columns with database defaults.
import type { ColumnType, Generated, Kysely, Transaction } from 'kysely';

/** Row types as read (Selectable) and written (Insertable), derived from the tables below. */
export type { Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp column with a database default (now()). */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T = Record<string, unknown>> = ColumnType<T, string, string>;

export type OrgRole = 'owner' | 'admin' | 'member' | 'viewer';
export type OrgStatus = 'active' | 'suspended' | 'archived';

export interface UsersTable {
  id: string;
  email: string;
  name: string | null;
  password_hash: string;
  allow_cli_login_access: Generated<boolean>;
  /** Created by the server CLI; only such accounts can be platform administrators. */
  created_on_server: Generated<boolean>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface OrganizationsTable {
  id: string;
  name: string;
  slug: string;
  status: Generated<OrgStatus>;
  primary_domain: string | null;
  industry: string | null;
  contact_email: string | null;
  billing_email: string | null;
  support_tier: Generated<'community' | 'standard' | 'premium' | 'enterprise'>;
  created_by: string | null;
  status_changed_at: NullableTimestamp;
  /** While suspended: the status a restore returns to. */
  suspended_from: 'active' | 'archived' | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface OrgDataKeysTable {
  org_id: string;
  wrapped_key: string;
  master_key_id: string;
  created_at: DefaultTimestamp;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: OrgRole;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface WorkspacesTable {
  org_id: string;
  id: string;
  name: string;
  description: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface EnvironmentsTable {
  org_id: string;
  workspace_id: string;
  id: string;
  name: string;
  slug: string;
  tier: 'dev' | 'stage' | 'prod';
  deployment_host: 'localhost' | 'cloudrun' | 'aws';
  execution_backend: Json;
  cloud_credentials_sealed: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: Json;
  private_jwk_sealed: string;
  master_key_id: string;
  status: 'active' | 'retired';
  created_at: DefaultTimestamp;
  retired_at: NullableTimestamp;
}

export interface RefreshTokenFamiliesTable {
  id: string;
  /** The sign-in this session descends from (itself for a login). */
  root_id: string;
  user_id: string;
  org_id: string | null;
  /** Absolute end of the sign-in, shared by every session in its tree. */
  expires_at: Timestamp;
  created_at: DefaultTimestamp;
  revoked_at: NullableTimestamp;
  revoked_reason: string | null;
}

export interface RefreshTokensTable {
  id: string;
  family_id: string;
  token_hash: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

export interface RateLimitCountersTable {
  key: string;
  count: number;
  window_ends_at: Timestamp;
}

export interface AuditLogsTable {
  org_id: string;
  id: string;
  occurred_at: DefaultTimestamp;
  actor_type: string;
  actor_id: string | null;
  actor_email: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  request_id: string | null;
  user_agent: string | null;
  metadata: Json;
}

export interface ApiKeysTable {
  org_id: string;
  id: string;
  workspace_id: string | null;
  name: string;
  description: string | null;
  key_hash: string;
  key_start: string;
  scopes: string[];
  created_by_user_id: string;
  created_by_api_key_id: string | null;
  rate_limit_requests: number | null;
  rate_limit_per_seconds: number | null;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

export interface HostedServicesTable {
  org_id: string;
  workspace_id: string;
  id: string;
  name: string;
  description: string | null;
  url: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface ServiceTokensTable {
  org_id: string;
  workspace_id: string;
  service_id: string;
  id: string;
  token_hash: string;
  claims: Json;
  created_by_user_id: string | null;
  created_by_api_key_id: string | null;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

export interface DeployTokensTable {
  org_id: string;
  workspace_id: string;
  environment_id: string;
  id: string;
  name: string;
  token_hash: string;
  token_start: string;
  created_by_user_id: string;
  created_by_api_key_id: string | null;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

export type DeploymentStatus = 'pending' | 'in_progress' | 'succeeded' | 'failed' | 'cancelled';

export interface DeploymentsTable {
  org_id: string;
  workspace_id: string;
  environment_id: string;
  id: string;
  version: string;
  description: string | null;
  status: Generated<DeploymentStatus>;
  metadata: Json;
  created_by_type: string;
  created_by_id: string;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface OauthModelsTable {
  model: string;
  id: string;
  payload: Json;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  client_id: string | null;
  account_id: string | null;
  org_id: ColumnType<string | null, string | null | undefined, string | null>;
  expires_at: NullableTimestamp;
  consumed_at: NullableTimestamp;
}

export interface OAuthClientsTable {
  org_id: string;
  /** The public `client_id`. */
  id: string;
  name: string;
  description: string | null;
  type: 'public' | 'confidential';
  /** Exactly as registered (compared verbatim). */
  redirect_uris: string[];
  scopes: string[];
  /** SHA-256 hex of the `fl_ocs_` secret; null for public clients. */
  secret_hash: string | null;
  secret_start: string | null;
  created_by_user_id: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface CliLoginRequestsTable {
  id: string;
  secret_hash: string;
  token_hash: string | null;
  /** 'expired' is not stored: a pending or approved request past expires_at is expired. */
  status: Generated<'pending' | 'approved' | 'consumed'>;
  client_name: string | null;
  requested_ip: string | null;
  requested_user_agent: string | null;
  approved_by_user_id: string | null;
  org_id: string | null;
  created_at: DefaultTimestamp;
  approved_at: NullableTimestamp;
  consumed_at: NullableTimestamp;
  expires_at: Timestamp;
}

export interface UserTotpTable {
  user_id: string;
  /** The 20-byte secret sealed by the master key, AAD `totp:<user_id>`. */
  secret_sealed: string;
  confirmed_at: NullableTimestamp;
  /** Last accepted time step (replay guard); bigint, read back as a string by pg. */
  last_used_step: ColumnType<string | number | null, number | null | undefined, number | null>;
  created_at: DefaultTimestamp;
}

export interface Database {
  user_totp: UserTotpTable;
  cli_login_requests: CliLoginRequestsTable;
  users: UsersTable;
  organizations: OrganizationsTable;
  org_data_keys: OrgDataKeysTable;
  memberships: MembershipsTable;
  workspaces: WorkspacesTable;
  environments: EnvironmentsTable;
  signing_keys: SigningKeysTable;
  refresh_token_families: RefreshTokenFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  rate_limit_counters: RateLimitCountersTable;
  audit_logs: AuditLogsTable;
  api_keys: ApiKeysTable;
  hosted_services: HostedServicesTable;
  service_tokens: ServiceTokensTable;
  deploy_tokens: DeployTokensTable;
  deployments: DeploymentsTable;
  oauth_clients: OAuthClientsTable;
  oauth_models: OauthModelsTable;
}

export type Db = Kysely<Database>;
/** A database handle or an open transaction: repos accept either. */
export type Executor = Kysely<Database> | Transaction<Database>;
