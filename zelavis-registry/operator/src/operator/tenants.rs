//! Tenants: creating and changing them, and reading their licenses.

use serde_json::Value;

use super::{MAX_ATTEMPTS, Operator, contended, is_conflict, require};
use crate::audit::AuditEntry;
use crate::error::OperatorError;
use crate::license::License;
use crate::role::{Actor, Role};
use crate::rows::Stored;
use crate::store::{Batch, Expected, Kind, Query, Row};
use crate::tenant::{Tenant, TenantSpec};

impl Operator {
    /// Creates a tenant. Its tier must be one of the tier order's.
    pub async fn create_tenant(&self, actor: &Actor, spec: TenantSpec) -> Result<Tenant, OperatorError> {
        require(actor, Role::Operator, "create a tenant")?;
        self.inner.tiers.rank(&spec.tier)?;
        let now = self.now();
        let tenant = Tenant {
            id: spec.id,
            tier: spec.tier,
            niche: spec.niche,
            canary: spec.canary,
            license: spec.license,
            created_at: now,
            updated_at: now,
        };
        let entry = AuditEntry::new(now, &actor.id, "tenant.create", format!("tenant:{}", tenant.id))
            .after(public_tenant(&tenant));
        match self
            .commit(Batch::new().write(tenant.write(Expected::Absent)).audit(entry))
            .await
        {
            Err(e) if is_conflict(&e) => Err(OperatorError::AlreadyExists {
                what: "tenant",
                id: tenant.id.to_string(),
            }),
            Err(e) => Err(e),
            Ok(()) => Ok(tenant),
        }
    }

    /// Changes a tenant's tier, niche, canary flag or license.
    pub async fn update_tenant(&self, actor: &Actor, spec: TenantSpec) -> Result<Tenant, OperatorError> {
        require(actor, Role::Operator, "change a tenant")?;
        self.inner.tiers.rank(&spec.tier)?;
        for _ in 0..MAX_ATTEMPTS {
            let (before, row) = self.tenant_row(spec.id.as_str()).await?;
            let after = Tenant {
                tier: spec.tier.clone(),
                niche: spec.niche.clone(),
                canary: spec.canary,
                license: spec.license.clone(),
                updated_at: self.now(),
                ..before.clone()
            };
            let entry = AuditEntry::new(self.now(), &actor.id, "tenant.update", format!("tenant:{}", after.id))
                .before(public_tenant(&before))
                .after(public_tenant(&after));
            if !self
                .try_commit(Batch::new().write(after.write(Expected::of(Some(&row)))).audit(entry))
                .await?
            {
                continue;
            }
            return Ok(after);
        }
        Err(contended(format!("tenant {:?}", spec.id.as_str())))
    }

    pub(crate) async fn tenant_row(&self, id: &str) -> Result<(Tenant, Row), OperatorError> {
        self.read::<Tenant>(id)
            .await?
            .ok_or_else(|| OperatorError::UnknownTenant {
                tenant: crate::error::clip(id),
            })
    }

    /// One tenant.
    pub async fn tenant(&self, actor: &Actor, id: &str) -> Result<Tenant, OperatorError> {
        require(actor, Role::Viewer, "read a tenant")?;
        Ok(self.tenant_row(id).await?.0)
    }

    /// Every tenant, by id.
    pub async fn tenants(&self, actor: &Actor) -> Result<Vec<Tenant>, OperatorError> {
        require(actor, Role::Viewer, "list tenants")?;
        self.read_all(&Query::All(Kind::Tenant)).await
    }

    /// The tenant's valid license.
    pub async fn license(&self, tenant: &Tenant) -> Result<License, OperatorError> {
        match &self.inner.licenses {
            Some(source) => source.license(tenant).await,
            None => Err(OperatorError::LicenseInvalid {
                tenant: tenant.id.to_string(),
                reason: "this host has no license source".to_owned(),
            }),
        }
    }
}

/// A tenant as the audit log records it: without its license token.
fn public_tenant(tenant: &Tenant) -> Value {
    serde_json::json!({
        "id": tenant.id,
        "tier": tenant.tier,
        "niche": tenant.niche,
        "canary": tenant.canary,
        "licensed": tenant.license.is_some(),
    })
}
