import { defineError } from '../core/errors.ts';

export const AdminUnauthorized = defineError('admin_unauthorized', 401, 'Admin credentials missing or wrong');
export const AdminNotFound = defineError('admin_not_found', 404, 'No such admin resource');
export const AdminValidation = defineError('admin_validation', 400, 'Request does not match the schema');
export const CursorInvalid = defineError('cursor_invalid', 400, 'Pagination cursor is not valid');
export const AdminForbidden = defineError('admin_forbidden', 403, 'Admin role or tenant does not allow this');
