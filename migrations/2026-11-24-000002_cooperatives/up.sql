-- Organizations, staff, the membership register, share capital, member
-- accounts, transaction volume, surplus distribution and a minimal
-- double-entry ledger (extended by the settlement work).

CREATE TABLE organizations (
    id                    uuid PRIMARY KEY,
    kind                  text NOT NULL CHECK (kind IN ('supply_marketing_coop', 'grassroots_coop', 'farmer_coop',
                                                        'coop_union', 'enterprise', 'family_farm', 'service_station')),
    name                  text NOT NULL,
    credit_code           text NOT NULL UNIQUE,
    region_code           text NOT NULL CHECK (region_code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    parent_id             uuid REFERENCES organizations (id),
    contact_email         text NOT NULL,
    additional_vote_basis text NOT NULL DEFAULT 'none' CHECK (additional_vote_basis IN ('none', 'capital', 'transaction_volume')),
    created_by            uuid NOT NULL REFERENCES users (id),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
SELECT diesel_manage_updated_at('organizations');
CREATE INDEX organizations_parent_idx ON organizations (parent_id, id);
CREATE INDEX organizations_kind_idx ON organizations (kind, id);
CREATE INDEX organizations_region_idx ON organizations (region_code text_pattern_ops);

CREATE TABLE organization_staff (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id),
    role            text NOT NULL CHECK (role IN ('admin', 'clerk')),
    added_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_staff_user_idx ON organization_staff (user_id);

CREATE TABLE membership_applications (
    id                        uuid PRIMARY KEY,
    organization_id           uuid NOT NULL REFERENCES organizations (id),
    applicant_user_id         uuid REFERENCES users (id),
    applicant_organization_id uuid REFERENCES organizations (id),
    is_farmer                 boolean NOT NULL,
    note                      text,
    status                    text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    member_id                 uuid,
    submitted_by              uuid NOT NULL REFERENCES users (id),
    decided_by                uuid REFERENCES users (id),
    decided_at                timestamptz,
    decision_reason           text,
    created_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT applications_one_applicant CHECK ((applicant_user_id IS NULL) <> (applicant_organization_id IS NULL))
);
CREATE INDEX membership_applications_org_idx ON membership_applications (organization_id, status, id);
-- one pending application per applicant and cooperative
CREATE UNIQUE INDEX membership_applications_pending_user
    ON membership_applications (organization_id, applicant_user_id) WHERE status = 'pending' AND applicant_user_id IS NOT NULL;
CREATE UNIQUE INDEX membership_applications_pending_org
    ON membership_applications (organization_id, applicant_organization_id) WHERE status = 'pending' AND applicant_organization_id IS NOT NULL;

CREATE TABLE members (
    id                     uuid PRIMARY KEY,
    organization_id        uuid NOT NULL REFERENCES organizations (id),
    user_id                uuid REFERENCES users (id),
    member_organization_id uuid REFERENCES organizations (id),
    is_farmer              boolean NOT NULL,
    status                 text NOT NULL CHECK (status IN ('active', 'suspended', 'withdrawn', 'expelled')),
    joined_at              timestamptz NOT NULL,
    left_at                timestamptz,
    CONSTRAINT members_one_kind CHECK ((user_id IS NULL) <> (member_organization_id IS NULL)),
    CONSTRAINT members_left_when_ended CHECK ((status IN ('withdrawn', 'expelled')) = (left_at IS NOT NULL))
);
CREATE INDEX members_org_idx ON members (organization_id, status, id);
-- at most one current membership per person/organization and cooperative
CREATE UNIQUE INDEX members_current_user
    ON members (organization_id, user_id) WHERE status IN ('active', 'suspended') AND user_id IS NOT NULL;
CREATE UNIQUE INDEX members_current_org
    ON members (organization_id, member_organization_id) WHERE status IN ('active', 'suspended') AND member_organization_id IS NOT NULL;

-- Every change to a membership, append-only.
CREATE TABLE member_events (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    member_id       uuid REFERENCES members (id),
    application_id  uuid REFERENCES membership_applications (id),
    event           text NOT NULL,
    from_status     text,
    to_status       text,
    actor_id        uuid REFERENCES users (id),
    reason          text,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX member_events_member_idx ON member_events (member_id, id);

-- Share capital paid in (positive) and paid back on leaving (form = return, negative).
CREATE TABLE capital_contributions (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    member_id       uuid NOT NULL REFERENCES members (id),
    amount_fen      bigint NOT NULL,
    form            text NOT NULL CHECK (form IN ('cash', 'in_kind', 'return')),
    description     text,
    contributed_on  date NOT NULL,
    recorded_by     uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contributions_sign CHECK ((form = 'return' AND amount_fen < 0) OR (form <> 'return' AND amount_fen > 0))
);
CREATE INDEX capital_contributions_member_idx ON capital_contributions (member_id);

-- Reserve fund and subsidies quantified to member accounts.
CREATE TABLE member_quantifications (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    member_id       uuid NOT NULL REFERENCES members (id),
    kind            text NOT NULL CHECK (kind IN ('reserve', 'subsidy')),
    fiscal_year     integer NOT NULL,
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    recorded_by     uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX member_quantifications_member_idx ON member_quantifications (member_id);

-- Transaction volume (交易量/额) between a member and its cooperative.
CREATE TABLE member_transactions (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    member_id       uuid NOT NULL REFERENCES members (id),
    fiscal_year     integer NOT NULL CHECK (fiscal_year BETWEEN 2000 AND 2100),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    source          text NOT NULL CHECK (source IN ('offline_delivery', 'platform_sale', 'platform_purchase')),
    reference       text,
    recorded_by     uuid REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX member_transactions_member_idx ON member_transactions (member_id, fiscal_year);
CREATE UNIQUE INDEX member_transactions_reference ON member_transactions (source, reference) WHERE reference IS NOT NULL;

-- Double-entry ledger. Amounts: debit positive, credit negative; the lines
-- of an entry sum to zero (checked at commit). Entries are immutable.
CREATE TABLE ledger_accounts (
    id         uuid PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE journal_entries (
    id          uuid PRIMARY KEY,
    description text NOT NULL,
    source_kind text NOT NULL,
    source_id   uuid NOT NULL,
    posted_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_kind, source_id)
);

CREATE TABLE journal_lines (
    id         uuid PRIMARY KEY,
    entry_id   uuid NOT NULL REFERENCES journal_entries (id),
    account_id uuid NOT NULL REFERENCES ledger_accounts (id),
    amount_fen bigint NOT NULL CHECK (amount_fen <> 0)
);
CREATE INDEX journal_lines_entry_idx ON journal_lines (entry_id);
CREATE INDEX journal_lines_account_idx ON journal_lines (account_id);

CREATE FUNCTION journal_entry_balances() RETURNS trigger AS $$
DECLARE
    total bigint;
BEGIN
    SELECT coalesce(sum(amount_fen), 0) INTO total FROM journal_lines WHERE entry_id = NEW.entry_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance (sum %)', NEW.entry_id, total;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER journal_lines_balance
    AFTER INSERT ON journal_lines DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION journal_entry_balances();

CREATE FUNCTION forbid_mutation() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION forbid_mutation();
CREATE TRIGGER journal_lines_immutable BEFORE UPDATE OR DELETE ON journal_lines
    FOR EACH ROW EXECUTE FUNCTION forbid_mutation();

CREATE TABLE surplus_distributions (
    id                        uuid PRIMARY KEY,
    organization_id           uuid NOT NULL REFERENCES organizations (id),
    fiscal_year               integer NOT NULL,
    distributable_surplus_fen bigint NOT NULL CHECK (distributable_surplus_fen > 0),
    patronage_ratio_bp        integer NOT NULL CHECK (patronage_ratio_bp BETWEEN 6000 AND 10000),
    patronage_pool_fen        bigint NOT NULL,
    capital_pool_fen          bigint NOT NULL,
    journal_entry_id          uuid NOT NULL REFERENCES journal_entries (id),
    committed_by              uuid NOT NULL REFERENCES users (id),
    committed_at              timestamptz NOT NULL,
    UNIQUE (organization_id, fiscal_year),
    CONSTRAINT surplus_pools_sum CHECK (patronage_pool_fen + capital_pool_fen = distributable_surplus_fen),
    CONSTRAINT surplus_patronage_at_least_60 CHECK (patronage_pool_fen * 10000 >= distributable_surplus_fen * 6000)
);

CREATE TABLE surplus_allocations (
    distribution_id uuid NOT NULL REFERENCES surplus_distributions (id),
    member_id       uuid NOT NULL REFERENCES members (id),
    patronage_fen   bigint NOT NULL CHECK (patronage_fen >= 0),
    capital_fen     bigint NOT NULL CHECK (capital_fen >= 0),
    total_fen       bigint NOT NULL,
    PRIMARY KEY (distribution_id, member_id),
    CONSTRAINT allocation_total CHECK (total_fen = patronage_fen + capital_fen)
);

CREATE TRIGGER surplus_distributions_immutable BEFORE UPDATE OR DELETE ON surplus_distributions
    FOR EACH ROW EXECUTE FUNCTION forbid_mutation();
CREATE TRIGGER surplus_allocations_immutable BEFORE UPDATE OR DELETE ON surplus_allocations
    FOR EACH ROW EXECUTE FUNCTION forbid_mutation();
