"""Request problems: a small family of exceptions, each with a stable code, an HTTP
status and the contract's exact message. Translated once at each edge (the DRF
exception handler, management commands, the worker)."""


class UploadError(Exception):
    code = "error"
    status = 400
    message = "Oops Something went wrong, Please contact Administrator"

    def __init__(self, message: str | None = None):
        if message is not None:
            self.message = message
        super().__init__(self.message)


class InvalidJson(UploadError):
    code = "invalid_json"

    def __init__(self, detail: str):
        super().__init__(f"Invalid JSON: {detail}")


class InvalidStructure(UploadError):
    code = "invalid_structure"
    message = "Invalid request structure"


class InvalidActionType(UploadError):
    code = "invalid_action_type"

    def __init__(self, value: object):
        super().__init__(f"Invalid action_type: {value}")


class InsertWithReference(UploadError):
    code = "insert_with_reference_field"
    message = "Insert operation cannot have reference_field."


class ReferenceMissing(UploadError):
    code = "reference_field_missing"
    message = "reference_field is missing in the request!"


class CampaignNotPresent(UploadError):
    code = "campaign_not_present"
    message = "Campaign is not Present"


class CampaignNotFound(CampaignNotPresent):
    """``Campaign is not Present`` as a 404: a read of something the caller cannot see."""

    status = 404


class Forbidden(UploadError):
    code = "permission_denied"
    status = 403
    message = "You do not have permission to perform this action."


class ReferenceMissingInRows(UploadError):
    code = "reference_field_missing_in_rows"

    def __init__(self, reference: str):
        super().__init__(f"reference_field - {reference} is missing in some bulk_data item(s)")


class NotUniform(UploadError):
    code = "not_uniform"
    message = "All items in bulk_data must have uniform structure"


class HeadersMismatch(UploadError):
    code = "headers_mismatch"
    message = "Headers are not matching with Campaign CRM Fields. Please refer to the sample CSV"


class NothingToUpdate(UploadError):
    code = "nothing_to_update"
    message = (
        "Please provide the columns data that you want to update along with the reference_field"
    )


class TooManyRows(UploadError):
    code = "too_many_rows"
    status = 413

    def __init__(self, count: int, limit: int):
        super().__init__(f"Too many rows: {count} (limit {limit})")


class BodyTooLarge(UploadError):
    code = "body_too_large"
    status = 413

    def __init__(self, limit: int):
        super().__init__(f"Request body too large (limit {limit} bytes)")


class JobNotFound(UploadError):
    code = "job_not_found"
    status = 404
    message = "Job not found."


class Unexpected(UploadError):
    code = "unexpected"
    status = 500


class ConfigError(Exception):
    """A config file problem: names the file and the path inside it."""

    def __init__(self, file: str, path: str, problem: str):
        self.file, self.path, self.problem = file, path, problem
        super().__init__(f"{file}: {path}: {problem}")


class IdempotencyKeyReused(UploadError):
    code = "idempotency_key_reused"
    status = 422

    def __init__(self, key: str):
        super().__init__(
            f"Idempotency-Key {key} was already used with a different request; "
            "use a new key for a new upload"
        )


class InvalidIdempotencyKey(UploadError):
    code = "invalid_idempotency_key"
    message = "Idempotency-Key must be 1 to 255 printable characters"


class InvalidCallbackUrl(UploadError):
    code = "invalid_callback_url"

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"Invalid callback_url: {reason}")
