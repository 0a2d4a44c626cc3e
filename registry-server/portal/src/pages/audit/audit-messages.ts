// The words of the audit log page.

import { defineMessages } from "../../i18n/i18n.tsx";

export const auditMessages = defineMessages({
  en: {
    title: "Audit log",
    listLabel: "Audit log entries",
    filters: "Filter the log",
    username: "User",
    operation: "Operation",
    anyOperation: "Any operation",
    resource: "Resource",
    resourceType: "Resource type",
    from: "From",
    to: "To",
    apply: "Apply",
    clear: "Clear",
    time: "Time",
    result: "Result",
    succeeded: "Succeeded",
    failed: "Failed",
    description: "Description",
  },
  fr: {
    title: "Journal d'audit",
    listLabel: "Entrées du journal d'audit",
    filters: "Filtrer le journal",
    username: "Utilisateur",
    operation: "Opération",
    anyOperation: "Toute opération",
    resource: "Ressource",
    resourceType: "Type de ressource",
    from: "Du",
    to: "Au",
    apply: "Appliquer",
    clear: "Effacer",
    time: "Date",
    result: "Résultat",
    succeeded: "Réussie",
    failed: "Échouée",
    description: "Description",
  },
});
