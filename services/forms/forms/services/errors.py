"""Problems the forms service answers with (stable codes, RFC 9457 via ``shared.errors``)."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class TradeNotFound(NotFound):
    code = "trade_not_found"
    title = "Trade not found"


class FormNotFound(NotFound):
    code = "form_not_found"
    title = "Form not found"


class FormTypeNotFound(NotFound):
    code = "form_type_not_found"
    title = "Unknown form type"


class FormTypeReadOnly(Forbidden):
    code = "form_type_read_only"
    title = "Your organisation may read but not write this form type"


class OrganisationRequired(Forbidden):
    code = "organisation_required"
    title = "This call must be made on behalf of an organisation"


class NotCreatingOrganisation(Forbidden):
    code = "not_creating_organisation"
    title = "Only the organisation that created the form may do this"


class FormValuesInvalid(InvalidInput):
    code = "form_values_invalid"
    title = "Some form values are invalid"


class FormNotReadyToSend(InvalidInput):
    code = "form_not_ready_to_send"
    title = "The form is missing required items or has invalid values"


class SharedItemsLocked(Conflict):
    code = "shared_items_locked"
    title = "Some shared items are locked by a sent trigger form"


class FormStatusConflict(Conflict):
    code = "form_status_conflict"
    title = "The form's status does not allow this"


class NoDerivation(InvalidInput):
    code = "no_derivation_route"
    title = "This form type cannot be derived from the trade's forms"


class TemplateNotFound(NotFound):
    code = "template_not_found"
    title = "Template not found"


class TemplateNameTaken(Conflict):
    code = "template_name_taken"
    title = "Your organisation already has a template of this form type with this name"


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"
    title = "Attachment not found"


class AttachmentTooLarge(AppError):
    status_code = 413
    code = "attachment_too_large"
    title = "The attachment is larger than allowed"


class AttachmentTypeRefused(AppError):
    status_code = 415
    code = "attachment_type_refused"
    title = "This kind of file is not accepted"


class AttachmentEmpty(InvalidInput):
    code = "attachment_empty"
    title = "The attachment is empty"
