// The words of the project pages.

import { defineMessages } from "../../i18n/i18n.tsx";

export const projectsMessages = defineMessages({
  en: {
    title: "Projects",
    searchLabel: "Search projects by name",
    name: "Name",
    type: "Type",
    hosted: "Hosted",
    proxyCache: "Proxy cache",
    access: "Access",
    public: "Public",
    private: "Private",
    repositories: "Repositories",
    created: "Created",
    listLabel: "Projects",
  },
  fr: {
    title: "Projets",
    searchLabel: "Rechercher un projet par nom",
    name: "Nom",
    type: "Type",
    hosted: "Hébergé",
    proxyCache: "Cache proxy",
    access: "Accès",
    public: "Public",
    private: "Privé",
    repositories: "Dépôts",
    created: "Créé le",
    listLabel: "Projets",
  },
});
