"""One APIRouter per area; each route translates HTTP and makes one call into the service."""
