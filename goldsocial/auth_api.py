"""POST /api/auth/token/ (sign in: a username and password for the user's token) and DELETE (revoke it)."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from goldsocial.fields import StrictCharField
from goldsocial.openapi import DETAIL, NESTED_FIELD_ERRORS, THROTTLED
from goldsocial.throttling import SignInAddressThrottle, SignInUsernameThrottle
from goldsocial.tokens import token_issue, token_revoke

# One answer for an unknown user, a wrong password and an inactive account: which one it was
# would tell a guesser which usernames exist.
WRONG_CREDENTIALS = "unable to sign in with that username and password"


class SignInIn(serializers.Serializer):
    username = StrictCharField(max_length=150)
    # Bounded: the password hasher's cost grows with its length.
    password = StrictCharField(max_length=1024, trim_whitespace=False, style={"input_type": "password"})


class AuthToken(APIView):
    # Only the token authenticates a revocation: a session (a browser) has no token to revoke,
    # and a sign-in reads no credentials but the body's (a stale Authorization header is ignored).
    authentication_classes = [TokenAuthentication]

    def get_authenticators(self):
        # self.request is the Django request here (None while drf-spectacular builds the schema).
        revoking = getattr(self.request, "method", "DELETE") == "DELETE"
        return super().get_authenticators() if revoking else []

    def get_permissions(self):
        # Any other method is answered 405, whoever asks.
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def get_throttles(self):
        # Both count every attempt: a right password spends the allowance too, so that how an
        # attempt was answered cannot be learnt from the throttle.
        return [SignInAddressThrottle(), SignInUsernameThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        request={"application/json": SignInIn}, auth=[],
        responses={200: inline_serializer("SignedIn", {"token": serializers.CharField(
                       help_text="send it as 'Authorization: Token <token>' (REST and /ws/notifications/)")}),
                   400: OpenApiResponse(NESTED_FIELD_ERRORS.response, description=(
                       "a body that cannot be parsed; a missing or too long field, by field; wrong credentials "
                       "(whichever was wrong): "
                       f'{{"{api_settings.NON_FIELD_ERRORS_KEY}": ["{WRONG_CREDENTIALS}"]}}')),
                   429: THROTTLED},
        description="The user's API token from their username and password (the same token on every call "
                    "until it is revoked). Throttled per client address (AUTH_TOKEN_RATE) and per username "
                    "(AUTH_TOKEN_USERNAME_RATE).")
    def post(self, request):
        incoming = SignInIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = authenticate(request._request, username=incoming.validated_data["username"],
                            password=incoming.validated_data["password"])
        if user is None:
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [WRONG_CREDENTIALS]})
        return Response({"token": token_issue(user=user).key})

    @extend_schema(
        request=None, responses={204: None, 401: OpenApiResponse(DETAIL, description="no valid token")},
        description="Revoke the token this request is authenticated with: every app using it is signed out, "
                    "and its open /ws/notifications/ sockets get {\"type\": \"token.revoked\"} and close (4401).")
    def delete(self, request):
        token_revoke(key=request.auth.key)
        return Response(status=status.HTTP_204_NO_CONTENT)
