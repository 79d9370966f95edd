{#- The shape every pyslim proposal shares; slim, alpine and distroless extend it and fill
    the blocks that differ. Rendered with minijinja (trim_blocks, lstrip_blocks); every
    variable is described in crates/pyslim-core/src/propose/render.rs. -#}
# Proposed by pyslim for {{ image }}.
{% for note in notes %}
# {{ note }}
{% endfor %}
{% for line in pre_from %}
{{ line }}
{% endfor %}
{% if earlier_stages %}

# Your earlier stages, as written.
{% for line in earlier_stages %}
{{ line }}
{% endfor %}
{% endif %}

# Stage 1, the builder: compilers, headers, -dev packages, caches and build inputs stay here.
FROM {{ builder_base }} AS {{ builder_name }}
# pyslim: the venv gets every pip install below; nothing is cached and nothing compiled to
# bytecode, so nothing needs deleting afterwards (pip-cache, python-bytecode).
ENV VIRTUAL_ENV={{ venv }} \
    PATH="{{ venv }}/bin:$PATH" \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    PYTHONDONTWRITEBYTECODE=1
{% for step in builder_setup %}
# pyslim: {{ step.why }}
{{ step.text }}
{% endfor %}
# pyslim: the venv is made with the runtime's own interpreter, at the path the runtime has
# it, so the venv's links hold there ({{ interpreter.source }}).
RUN {{ interpreter.path }} -m venv {{ venv }}
{% for step in builder_steps %}
{% for c in step.comments %}
# pyslim: {{ c }}
{% endfor %}
{{ step.text }}
{% endfor %}
{% if prune %}
{% for p in prune %}
# pyslim: {{ p.why }}
{% endfor %}
RUN {{ prune | map(attribute="shell") | join(" \\\n    && ") }}
{% endif %}

{% block runtime_from %}
# Stage 2, the runtime: the base, the venv and the app; no compilers, no caches.
{% endblock %}
FROM {{ runtime_base }}
{% for e in runtime_env if e.why %}
# pyslim: {{ e.why }}
{% endfor %}
ENV {{ runtime_env | map(attribute="assignment") | join(" \\\n    ") }}
{% if runtime_packages %}
# pyslim: {{ runtime_packages_why }}
{% block runtime_packages %}{% endblock %}
{% endif %}
{% if user.create %}
# pyslim: {{ user.why }}
{% block runtime_user %}{% endblock %}
{% endif %}
{% for c in copies %}
# pyslim: {{ c.why }}
COPY --from={{ builder_name }} {{ c.path }} {{ c.path }}
{% endfor %}
{% for line in runtime_lines %}
{{ line }}
{% endfor %}
{# A numeric user lets Kubernetes' runAsNonRoot check it. #}
USER {{ user.uid if user.create or user.name == "nonroot" else user.name }}
