// nbdime's stylesheets, for the notebook diff in the comparison tab (scoped to .nbdime-root).
import 'nbdime/lib/styles/variables.css';
import 'nbdime/lib/styles/common.css';
import 'nbdime/lib/styles/diff.css';
import './base.css';
