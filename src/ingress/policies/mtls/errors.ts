/**
 * Codes of `auth.mtls`. One 401 for every certificate that does not authenticate (none sent, not
 * issued by the listener's CAs, expired): which of these it was goes to the audit log only, as for
 * the other auth policies (../auth-errors.ts).
 */
import { defineError } from '../../../core/errors.ts';

export const ClientCertRequired = defineError(
  'client_cert_required',
  401,
  'A trusted client certificate is required',
);
export const ClientCertForbidden = defineError(
  'client_cert_forbidden',
  403,
  'The client certificate is not allowed here',
);
