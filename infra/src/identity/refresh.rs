//! Rotating refresh tokens (hashed) and their families.

use super::*;

/// user, family, expires_at, rotated_at, revoked_at
pub(crate) type TokenState = (
    Uuid,
    Uuid,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

pub struct PgRefreshTokenRepository {
    pub pool: PgPool,
}

pub(crate) fn insert_refresh(conn: &mut PgConnection, t: &NewRefreshToken) -> QueryResult<usize> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::family_id.eq(t.family_id.0),
            refresh_tokens::user_id.eq(t.user_id.0),
            refresh_tokens::token_hash.eq(&t.token_hash),
            refresh_tokens::expires_at.eq(t.expires_at),
        ))
        .execute(conn)
}

impl RefreshTokenRepository for PgRefreshTokenRepository {
    fn insert(&self, token: &NewRefreshToken) -> Result<(), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        insert_refresh(&mut conn, token)?;
        Ok(())
    }

    fn rotate(
        &self,
        presented_hash: &str,
        replacement: &dyn Fn(UserId, TokenFamilyId) -> NewRefreshToken,
        now: DateTime<Utc>,
    ) -> Result<Rotation, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let outcome = conn.transaction::<_, DieselError, _>(|conn| {
            // The row lock makes concurrent presentations of one token
            // queue here: exactly one sees it current.
            let row: Option<TokenState> = refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(presented_hash))
                .select((
                    refresh_tokens::user_id,
                    refresh_tokens::family_id,
                    refresh_tokens::expires_at,
                    refresh_tokens::rotated_at,
                    refresh_tokens::revoked_at,
                ))
                .for_update()
                .first(conn)
                .optional()?;
            let Some((user_id, family_id, expires_at, rotated_at, revoked_at)) = row else {
                return Ok(Rotation::Invalid);
            };
            let (user_id, family_id) = (UserId(user_id), TokenFamilyId(family_id));
            if revoked_at.is_some() || expires_at <= now {
                return Ok(Rotation::Invalid);
            }
            if rotated_at.is_some() {
                return Ok(Rotation::Reused { user_id, family_id });
            }
            diesel::update(
                refresh_tokens::table.filter(refresh_tokens::token_hash.eq(presented_hash)),
            )
            .set(refresh_tokens::rotated_at.eq(now))
            .execute(conn)?;
            insert_refresh(conn, &replacement(user_id, family_id))?;
            Ok(Rotation::Rotated { user_id, family_id })
        })?;
        Ok(outcome)
    }

    fn revoke_family(
        &self,
        family_id: TokenFamilyId,
        now: DateTime<Utc>,
    ) -> Result<usize, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let live = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(family_id.0))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(&mut conn)?;
        Ok(live)
    }

    fn family_of(&self, token_hash: &str) -> Result<Option<(TokenFamilyId, UserId)>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<(Uuid, Uuid)> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select((refresh_tokens::family_id, refresh_tokens::user_id))
            .first(&mut conn)
            .optional()?;
        Ok(row.map(|(f, u)| (TokenFamilyId(f), UserId(u))))
    }
}
