"""Admin: predictions with status/symbol filters, a manual verification screen and a cancel action."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from predictions.explain import explanation_text, prediction_explain
from predictions.models import (
    Notification,
    Prediction,
    PredictionOption,
    PushSubscription,
    UserStats,
    VerificationAudit,
)
from predictions.services import deletion
from predictions.services.cancellation import CancellationRefused, prediction_cancel
from predictions.services.verification import VerificationRefused, prediction_verify_manual

VERIFY_PERMISSION = "predictions.verify_prediction"


class OptionInline(admin.TabularInline):
    model = PredictionOption
    extra = 0
    fields = readonly_fields = ("key", "text", "condition")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # options are fixed when the prediction is created


class AuditInline(admin.TabularInline):
    model = VerificationAudit
    extra = 0
    fields = readonly_fields = ("at", "kind", "by", "previous_status", "new_status", "previous_option_key",
                                "new_option_key", "final_price", "final_price_at", "final_price_source",
                                "final_price_basis", "price_change_percent", "base_price_sources",
                                "final_price_sources", "rules", "note")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class VerifyForm(forms.Form):
    option = forms.ChoiceField(widget=forms.RadioSelect)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)

    def __init__(self, *args, prediction: Prediction, **kwargs):
        super().__init__(*args, **kwargs)
        option = self.fields["option"]
        assert isinstance(option, forms.ChoiceField)
        option.choices = [
            (o.key, f"{o.key}: {o.text}" + (f"  [{o.condition}]" if o.condition else ""))
            for o in prediction.options.all()
        ]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["id", "symbol", "question", "verification", "status", "verify_time", "correct_option_key",
                    "verify_link"]
    list_filter = ["status", "symbol", "verification"]
    search_fields = ["question"]
    date_hierarchy = "verify_time"
    inlines = [OptionInline, AuditInline]
    readonly_fields = [*(f.name for f in Prediction._meta.fields), "explanation"]
    fieldsets = [(None, {"fields": [f.name for f in Prediction._meta.fields]}),
                 ("Explanation", {"fields": ["explanation"], "description":
                                  "What decided the result, from stored data (python manage.py explain_prediction)."})]
    # correct_option is shown through a method, which the admin's automatic select_related()
    # does not see.
    list_select_related = ["correct_option"]
    actions = ["cancel_selected"]

    def has_add_permission(self, request):
        return False  # predictions are created through the API, on a fresh price

    def has_cancel_permission(self, request):
        return request.user.is_staff and request.user.has_perm("predictions.change_prediction")

    @admin.action(description="Cancel selected predictions (voters are notified)", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        # One transaction per prediction, as the API does: one that was resolved meanwhile is
        # refused and reported without undoing the others.
        cancelled, now = [], timezone.now()
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                prediction_cancel(prediction_id=pk, by=request.user, now=now, note="cancelled in the admin")
                cancelled.append(f"#{pk}")
            except CancellationRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if cancelled:
            self.message_user(request, f"cancelled {', '.join(cancelled)}", messages.SUCCESS)

    def get_deleted_objects(self, objs, request):
        # A prediction with votes or verification records shows as protected, so neither the
        # delete page nor the "delete selected" action can go ahead.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        refusals = [str(refusal) for p in objs if (refusal := deletion.prediction_deletion_refusal(p))]
        if refusals:
            # The page shows missing permissions before protected objects; the refusal says more.
            return deleted, counts, set(), [*refusals, *protected]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        try:
            deletion.prediction_delete(prediction_id=obj.pk)
        except deletion.DeletionRefused as exc:  # a vote arrived since the confirmation page
            raise PermissionDenied(str(exc)) from None

    def delete_queryset(self, request, queryset):
        for prediction in queryset:
            self.delete_model(request, prediction)

    @admin.display(description="explanation")
    def explanation(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html('<pre style="white-space: pre-wrap">{}</pre>',
                           explanation_text(prediction_explain(prediction_id=obj.pk)))

    @admin.display(description="correct option")
    def correct_option_key(self, obj):
        return obj.correct_option.key if obj.correct_option_id else "-"

    @admin.display(description="verify")
    def verify_link(self, obj):
        if obj.status in (Prediction.Status.CANCELLED, Prediction.Status.ACTIVE) and obj.verify_time > timezone.now():
            return "-"
        label = "correct" if obj.status in (Prediction.Status.VERIFIED, Prediction.Status.VOID) else "verify"
        return format_html('<a href="{}">{}</a>', reverse("admin:predictions_prediction_verify", args=[obj.pk]),
                           label)

    def get_urls(self):
        return [
            path("<int:pk>/verify/", self.admin_site.admin_view(self.verify_view),
                 name="predictions_prediction_verify"),
            *super().get_urls(),
        ]

    def verify_view(self, request, pk):
        if not request.user.has_perm(VERIFY_PERMISSION):
            raise PermissionDenied
        prediction = get_object_or_404(Prediction, pk=pk)
        form = VerifyForm(request.POST or None, prediction=prediction)
        if request.method == "POST" and form.is_valid():
            try:
                prediction_verify_manual(prediction_id=prediction.pk, option_key=form.cleaned_data["option"],
                                         note=form.cleaned_data["note"], by=request.user, now=timezone.now())
            except VerificationRefused as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"#{prediction.pk} verified with option {form.cleaned_data['option']}",
                                  messages.SUCCESS)
                return redirect("admin:predictions_prediction_change", prediction.pk)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "prediction": prediction,
                   "form": form, "title": f"Verify #{prediction.pk}",
                   "audits": prediction.audits.select_related("by")}
        return TemplateResponse(request, "admin/predictions/verify.html", context)


@admin.register(UserStats)
class UserStatsAdmin(admin.ModelAdmin):
    list_display = ("user", "predictions_counted", "correct", "accuracy", "current_streak", "best_streak")
    readonly_fields = (*list_display, "updated_at")
    search_fields = ["user__username"]

    # Statistics are derived from the votes by the verifier; an edited row, or one deleted
    # while its votes remain, would disagree with them (and the next verification would build
    # on the wrong numbers). A row goes only with its user, whose votes go with it.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied("statistics are deleted only with their user")


@admin.register(VerificationAudit)
class VerificationAuditAdmin(admin.ModelAdmin):
    list_display = ["prediction", "kind", "at", "by", "previous_option_key", "new_option_key", "final_price"]
    list_filter = ["kind"]
    # Named: the admin's automatic select_related() leaves out nullable keys such as `by`.
    list_select_related = ["prediction", "by"]

    # The audit trail is written by the verification services only, and never rewritten.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "prediction", "kind", "is_correct", "created_at", "read_at", "delivered_at"]
    list_filter = ["kind"]
    raw_id_fields = ["user", "prediction"]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "endpoint", "created_at"]
    raw_id_fields = ["user"]

    # Endpoints come from browsers through the API, which checks them; here they are only
    # looked at or removed.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
