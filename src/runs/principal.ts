/** Who is acting: an end user (sees only their own runs) or an admin (sees everything). */
export interface Principal {
  userId: string;
  admin: boolean;
}

/** The single user of local mode (no auth configured): owns everything it creates and administers. */
export const LOCAL_PRINCIPAL: Principal = { userId: "local", admin: true };

export function canSee(principal: Principal, ownerId: string): boolean {
  return principal.admin || principal.userId === ownerId;
}
