//! User accounts.

use super::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: Uuid,
    email: Option<String>,
    phone: Option<String>,
    password_hash: String,
    display_name: String,
    is_platform_admin: bool,
    created_at: DateTime<Utc>,
}

impl UserRow {
    fn into_credentials(self) -> UserCredentials {
        UserCredentials {
            password_hash: self.password_hash,
            user: User {
                id: UserId(self.id),
                email: self.email,
                phone: self.phone,
                display_name: self.display_name,
                is_platform_admin: self.is_platform_admin,
                created_at: self.created_at,
            },
        }
    }
}

pub struct PgUserRepository {
    pub pool: PgPool,
}

impl UserRepository for PgUserRepository {
    fn create(&self, new: &NewUser) -> Result<User, CreateUserError> {
        let mut conn = get_conn(&self.pool).map_err(anyhow::Error::from)?;
        let row = diesel::insert_into(users::table)
            .values((
                users::id.eq(UserId::new().0),
                users::email.eq(new.email.as_ref().map(|e| e.as_str())),
                users::phone.eq(new.phone.as_ref().map(|p| p.as_str())),
                users::password_hash.eq(&new.password_hash),
                users::display_name.eq(&new.display_name),
                users::is_platform_admin.eq(new.is_platform_admin),
            ))
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    CreateUserError::Duplicate
                }
                other => CreateUserError::Unknown(other.into()),
            })?;
        Ok(row.into_credentials().user)
    }

    fn find_by_login(&self, login: &str) -> Result<Option<UserCredentials>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = users::table
            .filter(users::email.eq(login).or(users::phone.eq(login)))
            .select(UserRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(UserRow::into_credentials))
    }

    fn find(&self, id: UserId) -> Result<Option<User>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = users::table
            .find(id.0)
            .select(UserRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(|r| r.into_credentials().user))
    }

    fn any_platform_admin(&self) -> Result<bool, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(diesel::select(diesel::dsl::exists(
            users::table.filter(users::is_platform_admin.eq(true)),
        ))
        .get_result(&mut conn)?)
    }

    fn set_platform_admin(&self, id: UserId) -> Result<(), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        diesel::update(users::table.find(id.0))
            .set(users::is_platform_admin.eq(true))
            .execute(&mut conn)?;
        Ok(())
    }
}
