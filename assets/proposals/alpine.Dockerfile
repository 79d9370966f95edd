{#- Alpine (musl) runtime. -#}
{% extends "base.Dockerfile" %}
{% block runtime_packages %}
RUN apk add --no-cache {{ runtime_packages | join(" ") }}
{% endblock %}
{% block runtime_user %}
RUN addgroup -S -g {{ user.uid }} {{ user.name }} \
    && adduser -S -D -H -u {{ user.uid }} -G {{ user.name }} -s /sbin/nologin {{ user.name }}
{% endblock %}
