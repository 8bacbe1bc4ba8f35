package repository

import (
	"context"
	"fmt"

	"crm/commands"
)

// ClaimOwners returns the owners of those keys of one kind that are
// claimed, by key, in one round trip.
func (r *Repository) ClaimOwners(ctx context.Context, kind string, keys []string) (map[string]commands.ClaimHolder, error) {
	stored := make([]string, len(keys))
	byStored := make(map[string]string, len(keys))
	for i, k := range keys {
		stored[i] = r.storedKey(kind, k)
		byStored[stored[i]] = k
	}
	rows, err := r.pool.Query(ctx, `SELECT key, owner_type, owner_id FROM crm_claims WHERE kind = $1 AND key = ANY($2)`, kind, stored)
	if err != nil {
		return nil, fmt.Errorf("look up %s claims: %w", kind, err)
	}
	defer rows.Close()
	out := map[string]commands.ClaimHolder{}
	for rows.Next() {
		var key string
		var h commands.ClaimHolder
		if err := rows.Scan(&key, &h.OwnerType, &h.OwnerID); err != nil {
			return nil, fmt.Errorf("look up %s claims: %w", kind, err)
		}
		out[byStored[key]] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up %s claims: %w", kind, err)
	}
	return out, nil
}
