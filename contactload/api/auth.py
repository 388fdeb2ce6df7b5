"""``POST /api/generate-token/`` (CONTRACT 1) and the token scheme in the OpenAPI schema."""

from django.db import transaction
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from contactload.api.authentication import TokenAuthentication
from contactload.api.examples import TOKEN_EXAMPLES
from contactload.tokens import issue_token


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication with required prefix "Token"',
        }


class GenerateTokenView(APIView):
    """``POST /api/generate-token/`` with JSON or form ``username`` and ``password``."""

    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = AuthTokenSerializer

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        examples=TOKEN_EXAMPLES,
    )
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():  # (on SQLite, a job running stands aside: the backend)
            token = issue_token(serializer.validated_data["user"])
        return Response({"token": token})
