"""Home: what the suite holds, which demo models are ready, how to retrain."""

import streamlit as st

from shared.demo import available
from shared.domain import discover
from shared.inputs import OWN_DATA

st.title("dlsuite")
st.write(
    "dlsuite is an applied deep-learning suite on Keras 3 and TensorFlow: each domain packages "
    "data loaders, model builders, metrics and explanations behind one command-line interface and "
    "one shared training engine. The demo models on these pages are small and learned **synthetic "
    "data only**: they show how the pieces fit together, not how well they would do on your data. "
    "Retrain on your own data with the commands below before trusting any score."
)

for name, domain in discover().items():
    st.header(domain.title, divider="gray")
    st.write(domain.description)
    ready = available(domain)
    # The domain's main task first, as on its page.
    for task_name, task in sorted(domain.tasks.items(), key=lambda item: item[0] != domain.default_task):
        with st.container(border=True):
            st.subheader(task.title)
            st.write(task.description)
            st.caption(f"task `{task_name}` - model types: {', '.join(task.models.names())}")
            if task_name in ready:
                st.success("Demo model ready (trained on synthetic data).", icon=":material/check:")
            else:
                st.warning(f"No demo model built; run `dlsuite demo --build --only {name}`.", icon=":material/build:")
            st.code(f"dlsuite train {name} --task {task_name} --data {OWN_DATA[task.input_kind.value]}", language="bash")
