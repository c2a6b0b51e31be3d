/** Cedar fixtures shared by the unit and end-to-end tests of `auth.abac`. */

/** The seed's Q33 example, as Cedar. */
export const SEED_POLICY = `
@id("employee-edits-own-document-before-18")
permit (principal, action == Action::"edit", resource is Document)
when {
  principal has employee && principal.employee &&
  resource has owner && resource.owner == principal &&
  context.time.hour < 18
};

@id("quarantined-network")
forbid (principal, action, resource)
when { context has clientIp && context.clientIp.isInRange(ip("10.66.0.0/16")) };
`;
