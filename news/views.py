from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from goldsocial.openapi import FIELD_ERRORS
from goldsocial.throttling import AnonReadThrottle, AnonSearchThrottle
from news.models import Category
from news.selectors import PageOutOfRange, article_page


class NewsQuerySerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True, default="")
    search = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=10_000)


class ArticleSerializer(serializers.Serializer):
    """Documents the shape; the rows come ready-made from the cache."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.URLField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field named source: the stubs take it for Field.source
    category = serializers.ChoiceField(choices=Category.choices)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=Category.choices))
    published_at = serializers.DateTimeField()
    summary = serializers.CharField(help_text="sanitised HTML")


class NewsPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ArticleSerializer(many=True)


class NewsListView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [AnonReadThrottle, AnonSearchThrottle]

    @extend_schema(
        parameters=[
            # The bounds are NewsQuerySerializer's; an empty category means all of them.
            OpenApiParameter("category", enum=[*Category.values, ""], description="articles in this category"),
            OpenApiParameter("search", {"type": "string", "maxLength": 200},
                             description="words in the title or summary (case-insensitive)"),
            OpenApiParameter("page", {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 10_000},
                                                {"type": "string", "enum": [""]}]},
                             description="1-based (empty: 1); a page past the last answers 404"),
        ],
        responses={200: NewsPageSerializer, 400: FIELD_ERRORS,
                   404: OpenApiResponse(FIELD_ERRORS.response, description="no such page")},
    )
    def get(self, request):
        query = NewsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        search = params["search"].strip()
        try:
            page = article_page(category=params["category"], search=search, page=params["page"])
        except PageOutOfRange as exc:
            return Response({"page": [str(exc)]}, status=404)

        def link(number):
            url = request.build_absolute_uri()
            query = request.query_params.copy()
            query["page"] = str(number)
            return f"{url.split('?', 1)[0]}?{query.urlencode()}"

        current = params["page"]
        return Response({
            "count": page.count,
            "pages": page.pages,
            "next": link(current + 1) if current < page.pages else None,
            "previous": link(current - 1) if current > 1 else None,
            "results": page.results,
        })
