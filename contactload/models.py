"""contactload's data: campaigns and their CRM fields, people, lead lists, contacts,
Do-Not-Call entries, upload jobs and the rows they rejected.

Models hold data and constraints only; workflow lives in ``contactload.ingest``.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"


class Campaign(models.Model):
    class Duplicates(models.TextChoices):
        REJECT = "reject"
        ALLOW = "allow"

    name = models.CharField(max_length=100, unique=True)
    country = models.CharField(max_length=2, default="IN")
    duplicates = models.CharField(
        max_length=6, choices=Duplicates.choices, default=Duplicates.REJECT
    )
    active = models.BooleanField(default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="campaigns", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def rejects_duplicates(self) -> bool:
        return self.duplicates == self.Duplicates.REJECT


class CrmField(models.Model):
    class Type(models.TextChoices):
        TEXT = "text"
        TEXTAREA = "textarea"
        INTEGER = "integer"
        FLOAT = "float"
        DATE = "date"
        DATETIME = "datetime"
        TIME = "time"
        CHOICE = "choice"
        EMAIL = "email"
        PHONE = "phone"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="crm_fields")
    section = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    size = models.PositiveIntegerField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True)
    unique = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "section", "name"], name="crmfield_unique_header"
            ),
            models.UniqueConstraint(
                fields=["campaign"], condition=Q(unique=True), name="crmfield_one_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.header

    @property
    def header(self) -> str:
        return f"{self.section}:{self.name}"


class Profile(models.Model):
    """A user's role; a user without a profile is an agent unless a superuser."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(max_length=7, choices=Role.choices, default=Role.AGENT)

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Membership(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.campaign}"


class Phonebook(models.Model):
    """A lead list: every upload creates one."""

    name = models.CharField(max_length=150, unique=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="phonebooks")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A lead. The table is what every upload writes, so it carries only what
    correctness needs: the primary key, the two unique indexes that make a doubled
    lead impossible, and (campaign, numeric) for lookups. Its foreign keys are not
    database constraints (three deferred FK checks cost more than half of COPY's
    speed, measured in bench/RESULTS.md): the writer only ever stores ids it has
    just read, and deletes cascade through Django. Every index leads with the
    campaign, so every hot query is campaign-scoped (and a campaign-distributed
    table stays possible)."""

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="contacts",
        db_constraint=False,
        db_index=False,  # the unique indexes lead with it
    )
    phonebook = models.ForeignKey(
        Phonebook,
        on_delete=models.CASCADE,
        related_name="contacts",
        db_constraint=False,
        db_index=False,
    )
    numeric = models.CharField(max_length=32)
    # The canonical number when the campaign rejects duplicates, else null:
    # the unique index below is what makes a doubled lead impossible.
    dedupe_key = models.CharField(max_length=32, null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,
    )
    first_name = models.CharField(max_length=100, blank=True, null=True)
    last_name = models.CharField(max_length=100, blank=True, null=True)
    email = models.CharField(max_length=254, blank=True, null=True)
    priority = models.IntegerField(null=True, blank=True)
    alt_numeric = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, default="NotDialed")
    uniqueid = models.CharField(max_length=255, null=True, blank=True)
    customer_raw_data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "dedupe_key"], name="contact_unique_number"
            ),
            models.UniqueConstraint(
                fields=["campaign", "uniqueid"],
                condition=Q(uniqueid__isnull=False),
                name="contact_unique_uniqueid",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "numeric"], name="contact_campaign_numeric")]

    def __str__(self) -> str:
        return self.numeric


class DncEntry(models.Model):
    """A Do-Not-Call number: global when ``campaign`` is null."""

    numeric = models.CharField(max_length=32)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="dnc_entries"
    )
    active = models.BooleanField(default=True)
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "DNC entry"
        verbose_name_plural = "DNC entries"
        constraints = [
            models.UniqueConstraint(
                fields=["numeric", "campaign"],
                condition=Q(campaign__isnull=False),
                name="dnc_unique_campaign",
            ),
            models.UniqueConstraint(
                fields=["numeric"], condition=Q(campaign__isnull=True), name="dnc_unique_global"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.numeric} ({self.campaign or 'global'})"

    @property
    def is_global(self) -> bool:
        return self.campaign_id is None


def new_job_id() -> str:
    # 128 random bits, URL-safe: opaque and unguessable.
    return secrets.token_urlsafe(16)


class UploadJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    class Action(models.TextChoices):
        INSERT = "insert"
        UPDATE = "update"

    class Source(models.TextChoices):
        JSON = "json"
        CSV = "csv"

    id = models.CharField(primary_key=True, max_length=32, default=new_job_id, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="jobs")
    phonebook = models.OneToOneField(
        Phonebook, null=True, blank=True, on_delete=models.SET_NULL, related_name="job"
    )
    action = models.CharField(max_length=6, choices=Action.choices, default=Action.INSERT)
    reference_field = models.CharField(max_length=201, blank=True, default="")
    headers = models.JSONField(default=list)
    source = models.CharField(max_length=4, choices=Source.choices, default=Source.JSON)
    state = models.CharField(max_length=9, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)  # rows committed: the checkpoint
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    # Set when a worker claims the job: only the run holding it may commit chunks.
    run_token = models.CharField(max_length=32, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    callback_url = models.URLField(max_length=2000, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="job_state_heartbeat")]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.COMPLETED, self.State.FAILED)


class UploadChunk(models.Model):
    """A slice of the upload as accepted, compressed: the worker's unit of work.

    Rows are kept column by column, in the order of the job's ``headers``, for CSV
    lines and JSON objects alike (``payload.Chunk``; chunks of earlier versions hold
    rows of cells or JSON objects). Chunks are apart from the job so job reads stay
    light."""

    job = models.ForeignKey(UploadJob, on_delete=models.CASCADE, related_name="chunks")
    first_row = models.PositiveIntegerField()  # 0-based position of the chunk's first row
    rows = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["job", "first_row"]
        constraints = [
            models.UniqueConstraint(fields=["job", "first_row"], name="uploadchunk_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id} rows {self.first_row + 1}-{self.first_row + self.rows}"


class RowResult(models.Model):
    """A rejected row: its 1-based position, the row as sent and its errors."""

    job = models.ForeignKey(UploadJob, on_delete=models.CASCADE, related_name="row_results")
    row = models.PositiveIntegerField()
    data = models.JSONField()
    # [[header, code, message], ...] in the order the checks found them.
    errors = models.JSONField()

    class Meta:
        ordering = ["job", "row"]
        constraints = [models.UniqueConstraint(fields=["job", "row"], name="rowresult_unique")]

    def __str__(self) -> str:
        return f"{self.job_id} row {self.row}"

    @property
    def description(self) -> str:
        return ", ".join(message for _header, _code, message in self.errors)


class IdempotencyKey(models.Model):
    """An upload's ``Idempotency-Key`` (CONTRACT 5.3): the request it was first used
    with (a digest) and the answer it got, stored in the job's transaction."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    job = models.ForeignKey(UploadJob, on_delete=models.CASCADE, related_name="+")
    status = models.PositiveSmallIntegerField()
    response = models.TextField()  # JSON text: a replay is byte-identical (jsonb reorders keys)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.user})"


class CallbackAttempt(models.Model):
    """One POST of a finished job's status to its ``callback_url`` (CONTRACT 5.5): when
    it started, how long it took, the receiver's HTTP status (null when there was no
    answer), what went wrong, and when the next attempt is due (null: no more)."""

    job = models.ForeignKey(UploadJob, on_delete=models.CASCADE, related_name="callback_attempts")
    attempt = models.PositiveSmallIntegerField()  # 1-based
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)  # null while in flight
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt"], name="callbackattempt_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id} callback attempt {self.attempt}"

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WorkerBeat(models.Model):
    """A running ``contactload worker`` process, seen alive at ``last_seen``."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"
