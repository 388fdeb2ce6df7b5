"""The contract's request and response bodies as OpenAPI examples, for the upload
(CONTRACT 2), status (CONTRACT 4) and generate-token (CONTRACT 1) endpoints. Each list
goes to its view's ``extend_schema(examples=...)``; messages are the contract's, verbatim."""

from drf_spectacular.utils import OpenApiExample

JOB_ID = "Xq3vF0d8Kp2LmN7sT1uWbA"
PHONEBOOK = "Sales_20250101093000_1a2b3c4d"
FACTS = {
    "job_id": JOB_ID,
    "campaign": "Sales",
    "phonebook": PHONEBOOK,
    "action_type": "insert",
    "total": 2,
    "updated": 0,
    "created_at": "2025-01-01T09:30:00.120000+00:00",
    "started_at": "2025-01-01T09:30:00.450000+00:00",
}
DONE = {"state": "completed", "progress": 100, "finished_at": "2025-01-01T09:30:01.020000+00:00"}


def request(name: str, value) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)


def answer(name: str, value, status: int = 200) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)])


def error(name: str, message: str, status: int = 400) -> OpenApiExample:
    return answer(name, {"errors": message}, status)


UPLOAD_EXAMPLES = [
    request(
        "Insert",
        {
            "campaign": "Sales",
            "action_type": "insert",
            "bulk_data": [
                {"numeric": "9876543210", "user": "agent1", "customer_info:customer_id": "C-1"},
                {"numeric": "9876543211", "user": "agent2", "customer_info:customer_id": "C-2"},
            ],
        },
    ),
    request(
        "Update",
        {
            "campaign": "Sales",
            "action_type": "update",
            "reference_field": "customer_info:customer_id",
            "bulk_data": [{"customer_info:customer_id": "C-1", "user": "agent2"}],
        },
    ),
    answer(
        "Insert accepted",
        {"success": f"Reference/Phonebook Name:{PHONEBOOK}", "job_id": JOB_ID},
    ),
    answer(
        "Update accepted",
        {"success": f"Reference/Phonebook Name:{PHONEBOOK}", "job_id": JOB_ID},
        201,
    ),
    error("Invalid action_type", "Invalid action_type: upsert"),
    error("Campaign is not Present", "Campaign is not Present"),
    error(
        "Headers not matching",
        "Headers are not matching with Campaign CRM Fields. Please refer to the sample CSV",
    ),
    error("Not uniform", "All items in bulk_data must have uniform structure"),
    error("No permission", "You do not have permission to perform this action.", 403),
    error("Too many rows", "Too many rows: 100001 (limit 100000)", 413),
]

STATUS_EXAMPLES = [
    answer(
        "Pending",
        {
            "status": "Pending state. Please check with Administrator!",
            **FACTS,
            "state": "running",
            "progress": 50,
            "inserted": 1,
            "rejected": 0,
            "finished_at": None,
        },
    ),
    answer("Completed", {"status": "Completed", **FACTS, **DONE, "inserted": 2, "rejected": 0}),
    answer(
        "Invalid Data",
        {
            "status": "Invalid Data",
            "improper_data": [
                {
                    "numeric": "42",
                    "user": "agent2",
                    "customer_info:customer_id": "C-2",
                    "description": "Enter Valid Number",
                    "row": 2,
                    "error_codes": {"numeric": ["invalid_number"]},
                }
            ],
            "improper_data_truncated": False,
            **FACTS,
            **DONE,
            "inserted": 1,
            "rejected": 1,
        },
    ),
    answer(
        "Failed",
        {
            "status": "Failed",
            "errors": "Oops Something went wrong, Please contact Administrator",
            **FACTS,
            **DONE,
            "state": "failed",
            "progress": 0,
            "inserted": 0,
            "rejected": 0,
        },
    ),
    error("Job not found", "Job not found.", 404),
]

TOKEN_EXAMPLES = [
    request("Credentials", {"username": "crm_push", "password": "secret-pw"}),
    answer("Token", {"token": "3f9c1e0b7a5d4c2e8f6a1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e"}),
    answer(
        "Bad credentials",
        {"non_field_errors": ["Unable to log in with provided credentials."]},
        400,
    ),
]
