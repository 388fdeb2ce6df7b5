"""``GET /api/campaigns/`` (CONTRACT 5.6): the campaigns the token may upload to, each
with the headers it accepts per action. Agents may not use the upload API: 403."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from contactload.ingest.exports import campaign_directory


def headers():
    return serializers.ListField(child=serializers.CharField())


CAMPAIGN = inline_serializer(
    "Campaign",
    fields={
        "name": serializers.CharField(),
        "country": serializers.CharField(help_text="ISO 3166 code"),
        "duplicates": serializers.ChoiceField(choices=["reject", "allow"]),
        "active": serializers.BooleanField(),
        "headers": inline_serializer(
            "CampaignHeaders", fields={action: headers() for action in ("insert", "update")}
        ),
    },
    many=True,
)
EXAMPLE = [
    {
        "name": "Sales",
        "country": "IN",
        "duplicates": "reject",
        "active": True,
        "headers": {
            "insert": ["numeric", "user", "first_name", "customer_info:customer_id"],
            "update": ["numeric", "user", "first_name", "customer_info:customer_id"],
        },
    }
]


class CampaignListView(APIView):
    @extend_schema(
        responses={
            200: CAMPAIGN,
            403: OpenApiResponse(OpenApiTypes.OBJECT, description='{"errors": "..."}'),
        },
        examples=[OpenApiExample("Campaigns", value=EXAMPLE, response_only=True)],
    )
    def get(self, request):
        return Response(campaign_directory(request.user))
